/**
 * Rendering Lumino and React widgets in jsdom, with React's `act` so that every update is
 * applied before the test looks at the DOM.
 */
import { MessageLoop } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';
import { act } from 'react';

// Tell React that updates are wrapped in act() here.
(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

/**
 * Attach a widget to the document and render it.
 *
 * @param widget - The widget.
 * @returns The widget.
 */
export async function show<T extends Widget>(widget: T): Promise<T> {
  await act(async () => {
    Widget.attach(widget, document.body);
    MessageLoop.sendMessage(widget, Widget.Msg.UpdateRequest);
  });
  await settle();
  return widget;
}

/**
 * Run something (or nothing) and let every promise, signal and React update settle.
 *
 * @param action - What to do first.
 */
export async function settle(action?: () => unknown): Promise<void> {
  await act(async () => {
    await action?.();
    for (let i = 0; i < 5; i++) {
      await new Promise(resolve => setTimeout(resolve, 0));
    }
  });
}

/**
 * Change the value of an input, select or textarea as a user would (React listens to `input`
 * and `change` events through its own value tracker).
 *
 * @param element - The control.
 * @param value - The new value.
 */
export async function type(
  element: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement,
  value: string
): Promise<void> {
  await settle(() => {
    const proto = Object.getPrototypeOf(element) as object;
    const setter = Object.getOwnPropertyDescriptor(proto, 'value')?.set;
    setter?.call(element, value);
    element.dispatchEvent(
      new Event(element instanceof HTMLSelectElement ? 'change' : 'input', { bubbles: true })
    );
  });
}

/**
 * Click an element and let the consequences settle.
 *
 * @param element - The element.
 */
export async function click(element: Element | null): Promise<void> {
  if (!element) {
    throw new Error('Nothing to click');
  }
  await settle(() => (element as HTMLElement).click());
}

/**
 * The element matching a selector, or a failure saying which was missing.
 *
 * @param root - Where to look.
 * @param selector - The CSS selector.
 * @returns The element.
 */
export function find<T extends Element = HTMLElement>(root: ParentNode, selector: string): T {
  const element = root.querySelector<T>(selector);
  if (!element) {
    throw new Error(`No element matches ${selector}`);
  }
  return element;
}

/**
 * Dispose of a widget (React unmounts inside act).
 *
 * @param widget - The widget, or `undefined`.
 */
export async function dispose(widget: Widget | undefined): Promise<void> {
  await act(async () => {
    widget?.dispose();
  });
}
