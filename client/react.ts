import { useCallback, useEffect, useRef, useState } from 'react';
import type { AnyProtocol, ClientFrame, ClientParam, Protocol, ReplyOf, ServerFrame } from '../server/socket/protocol';
import { Socket, type SocketOptions } from './socket';

export interface UseSocket<P extends Protocol<any, any, any>> {
  /** Null until the mounting effect has created it. */
  socket: Socket<P> | null;
  connected: boolean;
  /** The latest frame passed to onMessage. */
  lastMessage: ServerFrame<P> | null;
  send: Socket<P>['send'];
  request: Socket<P>['request'];
}

/**
 * A Socket for the life of a component: created in an effect, disconnected on unmount.
 * A new socket is made only when `url` changes; the callbacks in `options` are always the latest.
 */
export function useSocket<P extends Protocol<any, any, any> = AnyProtocol>(options: SocketOptions<P>): UseSocket<P> {
  const [socket, setSocket] = useState<Socket<P> | null>(null);
  const [connected, setConnected] = useState(false);
  const [lastMessage, setLastMessage] = useState<ServerFrame<P> | null>(null);
  const latest = useRef(options);
  latest.current = options;

  useEffect(() => {
    const s = new Socket<P>({
      ...latest.current,
      onOpen: () => {
        setConnected(true);
        latest.current.onOpen?.();
      },
      onMessage: (frame) => {
        setLastMessage(frame);
        latest.current.onMessage?.(frame);
      },
      onError: (service, error) => (latest.current.onError ?? console.error)(service, error),
      onClose: (code, reason, retryInMs) => {
        setConnected(false);
        latest.current.onClose?.(code, reason, retryInMs);
      },
    });
    setSocket(s);
    return () => {
      s.disconnect();
      setSocket(null);
      setConnected(false);
    };
  }, [options.url]);

  const send = useCallback((frame: ClientFrame<P>) => mounted(socket).send(frame), [socket]);
  const request = useCallback(
    <K extends keyof P['client'] & string>(channel: string, cmd: K, param: ClientParam<P, K>, opts?: { timeout?: number }): Promise<ReplyOf<P, K>> =>
      mounted(socket).request(channel, cmd, param, opts),
    [socket],
  );
  return { socket, connected, lastMessage, send, request };
}

function mounted<S>(socket: S | null): S {
  if (!socket) throw new Error('useSocket: the socket is created after mount; send from effects or event handlers');
  return socket;
}
