/** How a notice is shown; `info` when absent. */
export const noticeLevels = ['info', 'warning', 'error'] as const;

/**
 * The built-in `notice` frame's param: plain text (shown as text, never HTML). In a module of its
 * own, importing nothing, so the browser's notice banner (client/notice.ts) pulls in nothing else.
 */
export interface Notice {
  text: string;
  level?: (typeof noticeLevels)[number];
}
