import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import type { AnyProtocol, ClientFrame, ClientParam, Protocol, ReplyOf, ServerFrame } from '../server/socket/protocol';
import { Socket, type SocketOptions } from './socket';

export interface UseSocket<P extends Protocol<any, any, any>> {
  /** Null until the mounting effect has created it (a microtask after mount), and again after unmount. */
  socket: Socket<P> | null;
  connected: boolean;
  /** The latest frame passed to onMessage. */
  lastMessage: ServerFrame<P> | null;
  send: Socket<P>['send'];
  request: Socket<P>['request'];
}

// Before React 19, useLayoutEffect warns when rendered on a server, where no effect runs anyway.
const useCommitEffect = typeof document === 'undefined' ? useEffect : useLayoutEffect;

/**
 * A Socket for the life of a component: created in an effect, disconnected on unmount.
 * A new socket is made only when `url` changes; the callbacks in `options` (and a `token`
 * function) are always the latest.
 */
export function useSocket<P extends Protocol<any, any, any> = AnyProtocol>(options: SocketOptions<P>): UseSocket<P> {
  const [socket, setSocket] = useState<Socket<P> | null>(null);
  const [connected, setConnected] = useState(false);
  const [lastMessage, setLastMessage] = useState<ServerFrame<P> | null>(null);
  const latest = useRef(options);
  // Updated once a render commits, not while rendering: a render React throws away (an interrupted
  // transition, StrictMode's second render) must not leave its callbacks to the socket.
  useCommitEffect(() => {
    latest.current = options;
  });

  useEffect(() => {
    // Cleared by the cleanup: from then on this socket's events are dropped. Its close event
    // comes after the closing handshake, when the next socket (new url) may already be open,
    // and would mark that one disconnected; after an unmount nobody is listening.
    let live = true;
    let s: Socket<P> | undefined;
    // Created a microtask later: StrictMode (and a remount in the same commit) runs mount,
    // cleanup, mount at once, and a socket made by the first mount would open a connection
    // only to abort it during its handshake.
    queueMicrotask(() => {
      if (!live) return;
      const initial = latest.current;
      s = new Socket<P>({
        ...initial,
        // Socket keeps the function it was given: go through `latest` so a reconnect asks the current one.
        token:
          typeof initial.token === 'function'
            ? () => {
                const token = latest.current.token ?? initial.token!;
                return typeof token === 'function' ? token() : token;
              }
            : initial.token,
        onOpen: () => {
          if (!live) return;
          setConnected(true);
          latest.current.onOpen?.();
        },
        onMessage: (frame) => {
          if (!live) return;
          setLastMessage(frame);
          latest.current.onMessage?.(frame);
        },
        onError: (service, error) => {
          if (!live) return;
          const onError = latest.current.onError;
          // The same default as Socket's.
          if (onError) onError(service, error);
          else console.error(`wsforge ${service}: ${error}`);
        },
        onClose: (code, reason, retryInMs) => {
          if (!live) return;
          setConnected(false);
          latest.current.onClose?.(code, reason, retryInMs);
        },
      });
      setSocket(s);
    });
    return () => {
      live = false;
      s?.disconnect();
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
