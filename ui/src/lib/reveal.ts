// Svelte actions for content that appears in answer to a click, so it is not left hidden
// below a long list.

/** Scrolls the new content into view. */
export function bringIntoView(node: HTMLElement): void {
  node.scrollIntoView?.({ block: "nearest" });
}

/** A confirmation control: scrolled into view and focused, within reach of the keyboard. */
export function reveal(node: HTMLElement): void {
  bringIntoView(node);
  node.focus({ preventScroll: true });
}
