import { closeStatus } from './close-status';

export type ConnectionState = 'connected' | 'reconnecting' | 'closed';

export interface ConnectionUiOptions {
  /** The page's status element: the "Reconnect now" button goes right after it. */
  status: HTMLElement;
  /** The page's controls: when the socket closes for good, its inputs and buttons are disabled. */
  root: HTMLElement;
  /** The socket to reconnect; a function for pages that replace theirs (chat, editor). */
  socket: { reconnectNow(): void } | (() => { reconnectNow(): void } | undefined);
  /** Renders a status line. Default: the status element's text and `data-state`. */
  show?: (state: ConnectionState, text: string) => void;
}

export interface ConnectionUi {
  /** Call from the Socket's onOpen: stops the countdown and hides "Reconnect now". */
  opened(): void;
  /** Call from the Socket's onClose with its arguments: countdown and button, or controls disabled with the reason. */
  closed(code: number, reason: string, retryInMs?: number): void;
}

/**
 * The connection part of every example page, done once: while reconnecting it counts down to
 * the next attempt (closeStatus's text, refreshed) beside a "Reconnect now" button that calls
 * `socket.reconnectNow()`; once closed for good (kicked with 4000, or `disconnect()`) it shows
 * the reason and disables the page's inputs and buttons (`data-connection="closed"` on root).
 */
export function connectionUi(o: ConnectionUiOptions): ConnectionUi {
  const show =
    o.show ??
    ((state: ConnectionState, text: string) => {
      o.status.dataset.state = state;
      o.status.textContent = text;
    });
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'secondary reconnect-now';
  button.textContent = 'Reconnect now';
  button.hidden = true;
  o.status.after(button);
  let timer: ReturnType<typeof setInterval> | undefined;

  const stop = () => {
    clearInterval(timer);
    timer = undefined;
    button.hidden = true;
  };
  button.addEventListener('click', () => {
    const socket = typeof o.socket === 'function' ? o.socket() : o.socket;
    stop();
    show('reconnecting', 'reconnecting…');
    socket?.reconnectNow();
  });

  return {
    opened() {
      stop();
      delete o.root.dataset.connection;
    },
    closed(code, reason, retryInMs) {
      stop();
      if (retryInMs === undefined) {
        show('closed', closeStatus(code, reason).text);
        o.root.dataset.connection = 'closed';
        for (const el of o.root.querySelectorAll<HTMLInputElement | HTMLButtonElement | HTMLSelectElement | HTMLTextAreaElement>('input, textarea, select, button')) if (el !== button) el.disabled = true;
        for (const el of o.root.querySelectorAll<HTMLElement>('[contenteditable="true"]')) el.contentEditable = 'false';
        return;
      }
      o.root.dataset.connection = 'reconnecting';
      const at = Date.now() + retryInMs;
      const tick = () => show('reconnecting', closeStatus(code, reason, at - Date.now()).text);
      tick();
      button.hidden = false;
      timer = setInterval(() => (Date.now() < at ? tick() : stop()), 250);
    },
  };
}
