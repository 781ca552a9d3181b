/** A long text cut for a one-line notice. */
export const short = (text: string) => (text.length > 40 ? `${text.slice(0, 39)}…` : text);

/**
 * A page's one-line notice, with an optional action button (Undo, Edit my text again), hidden
 * after `ms` or when the action is taken. Used by the kanban and spreadsheet pages.
 */
export class ActionNotice {
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly el: HTMLElement,
    /** How long a notice stays, unless told. */
    private readonly defaultMs: number,
    /** Classes of the action button, besides `secondary`. */
    private readonly buttonClass = '',
  ) {}

  show(text: string, action?: { label: string; run: () => void }, ms = this.defaultMs): void {
    const children: Array<string | HTMLElement> = [text];
    if (action) {
      const b = Object.assign(document.createElement('button'), { type: 'button', className: `secondary ${this.buttonClass}`.trim(), textContent: action.label });
      b.addEventListener('click', () => {
        this.hide();
        action.run();
      });
      children.push(' ', b);
    }
    this.el.replaceChildren(...children);
    this.el.hidden = false;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.hide(), ms);
  }

  hide(): void {
    this.el.hidden = true;
  }
}
