/**
 * Small React parts shared by the views: re-rendering on a signal, a virtual list, status chips
 * and icon buttons.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { LabIcon } from '@jupyterlab/ui-components';
import { ISignal } from '@lumino/signaling';
import React, { useEffect, useLayoutEffect, useReducer, useRef, useState } from 'react';

import { TaskState } from '../api';
import { BuildStatus } from '../model';

/**
 * Render again whenever one of the signals is emitted.
 *
 * @param signals - The signals (their senders are ignored).
 */
export function useSignals(...signals: ISignal<unknown, unknown>[]): void {
  const [, tick] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    const slot = (): void => tick();
    for (const signal of signals) {
      signal.connect(slot);
    }
    return () => {
      for (const signal of signals) {
        signal.disconnect(slot);
      }
    };
    // The signals of a view's models do not change during its life.
  }, signals);
}

/**
 * The properties of {@link VirtualList}.
 */
export interface IVirtualListProps<T> {
  /**
   * The items, all of them: only the visible ones are rendered.
   */
  items: readonly T[];

  /**
   * The height of every row, in pixels.
   */
  rowHeight: number;

  /**
   * The content of a row.
   */
  renderRow: (item: T, index: number) => React.ReactNode;

  /**
   * A stable key of an item.
   */
  rowKey: (item: T, index: number) => string;

  /**
   * The accessible name of the list.
   */
  label: string;

  /**
   * The class of the scrolling element (its height comes from the style sheet).
   */
  className?: string;

  /**
   * Rows rendered above and below the visible ones.
   */
  overscan?: number;

  /**
   * The height assumed before the element is measured (and where it cannot be, as in tests).
   */
  initialHeight?: number;

  /**
   * The index of a row to scroll into view when it changes (keyboard navigation).
   */
  scrollToIndex?: number;

  /**
   * Handler of key presses on the list.
   */
  onKeyDown?: (event: React.KeyboardEvent<HTMLDivElement>) => void;

  /**
   * Make the list as tall as its rows (the style sheet caps it), rather than a fixed height.
   */
  fitRows?: boolean;
}

/**
 * A list that renders only the rows in view (plus a few), so that thousands of rows scroll
 * smoothly: rows have a fixed height and are placed absolutely in a spacer as tall as all rows.
 *
 * @param props - The items and how to render them.
 * @returns The list.
 */
export function VirtualList<T>(props: IVirtualListProps<T>): React.ReactElement {
  const { items, rowHeight, overscan = 8, scrollToIndex } = props;
  const ref = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(props.initialHeight ?? 480);

  useLayoutEffect(() => {
    const node = ref.current;
    if (!node) {
      return;
    }
    const measure = (): void => {
      if (node.clientHeight > 0) {
        setHeight(node.clientHeight);
      }
    };
    measure();
    if (typeof ResizeObserver === 'undefined') {
      return;
    }
    const observer = new ResizeObserver(measure);
    observer.observe(node);
    return () => observer.disconnect();
  }, []);

  useEffect(() => {
    const node = ref.current;
    if (!node || scrollToIndex === undefined || scrollToIndex < 0) {
      return;
    }
    const top = scrollToIndex * rowHeight;
    if (top < node.scrollTop) {
      node.scrollTop = top;
    } else if (top + rowHeight > node.scrollTop + node.clientHeight && node.clientHeight > 0) {
      node.scrollTop = top + rowHeight - node.clientHeight;
    }
  }, [scrollToIndex, rowHeight]);

  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(items.length, Math.ceil((scrollTop + height) / rowHeight) + overscan);
  const rows: React.ReactNode[] = [];
  for (let index = first; index < last; index++) {
    const item = items[index];
    rows.push(
      <div
        key={props.rowKey(item, index)}
        className="jp-HpcEnvs-virtualRow"
        role="listitem"
        style={{ top: index * rowHeight, height: rowHeight }}
      >
        {props.renderRow(item, index)}
      </div>
    );
  }
  return (
    <div
      ref={ref}
      className={`jp-HpcEnvs-virtualList ${props.className ?? ''}`}
      role="list"
      aria-label={props.label}
      style={props.fitRows ? { height: items.length * rowHeight } : undefined}
      onScroll={event => setScrollTop(event.currentTarget.scrollTop)}
      onKeyDown={props.onKeyDown}
    >
      <div className="jp-HpcEnvs-virtualSpacer" style={{ height: items.length * rowHeight }}>
        {rows}
      </div>
    </div>
  );
}

/**
 * The words of a build status, for people.
 *
 * @param status - The status.
 * @param trans - The translation bundle.
 * @returns A short label.
 */
export function buildStatusLabel(status: BuildStatus, trans: TranslationBundle): string {
  switch (status) {
    case 'ready':
      return trans.__('ready');
    case 'unregistered':
      return trans.__('no kernel');
    case 'building':
      return trans.__('building');
    case 'failed':
      return trans.__('failed');
    case 'stale':
      return trans.__('stale');
    case 'none':
      return trans.__('not built');
  }
}

/**
 * The words of a task state, for people.
 *
 * @param state - The state.
 * @param trans - The translation bundle.
 * @returns A short label.
 */
export function taskStateLabel(state: TaskState, trans: TranslationBundle): string {
  switch (state) {
    case 'pending':
      return trans.__('pending');
    case 'running':
      return trans.__('running');
    case 'succeeded':
      return trans.__('succeeded');
    case 'failed':
      return trans.__('failed');
    case 'cancelled':
      return trans.__('cancelled');
    case 'interrupted':
      return trans.__('interrupted');
  }
}

/**
 * The chip state (colour) of a kernel job's state.
 *
 * @param state - `SUBMITTING`, a Slurm state, or `CANCELLING`.
 * @returns `pending` while it waits, `running`, `succeeded` when it completed, `cancelled`, or
 *   `failed` for the other ends (a walltime, a node failure…).
 */
export function jobStateChip(state: string): string {
  switch (state) {
    case 'SUBMITTING':
    case 'PENDING':
    case 'CONFIGURING':
      return 'pending';
    case 'RUNNING':
    case 'COMPLETING':
      return 'running';
    case 'COMPLETED':
      return 'succeeded';
    case 'CANCELLING':
      return 'cancelled';
    default:
      return state.startsWith('CANCELLED') ? 'cancelled' : 'failed';
  }
}

/**
 * The message of a field, tied to its control by `aria-describedby` (nothing when there is none).
 *
 * @param props - The id its control names, and the message.
 * @returns The message, or nothing.
 */
export function FieldError(props: { id: string; message?: string }): React.ReactElement | null {
  if (!props.message) {
    return null;
  }
  return (
    <div id={props.id} className="jp-HpcEnvs-fieldError" role="alert">
      {props.message}
    </div>
  );
}

/**
 * A small coloured label of a state (`jp-HpcEnvs-chip jp-mod-<state>`).
 *
 * @param props - The state (a modifier) and its label.
 * @returns The chip.
 */
export function Chip(props: { state: string; label: string; title?: string }): React.ReactElement {
  return (
    <span className={`jp-HpcEnvs-chip jp-mod-${props.state}`} title={props.title}>
      {props.label}
    </span>
  );
}

/**
 * A button showing an icon, named for assistive technology by its `label`.
 *
 * @param props - The icon, the label, the handler.
 * @returns The button.
 */
export function IconButton(props: {
  icon: LabIcon;
  label: string;
  onClick: () => void;
  disabled?: boolean;
  className?: string;
}): React.ReactElement {
  return (
    <button
      type="button"
      className={`jp-HpcEnvs-iconButton ${props.className ?? ''}`}
      title={props.label}
      aria-label={props.label}
      disabled={props.disabled}
      onClick={props.onClick}
    >
      <props.icon.react tag="span" elementSize="small" />
    </button>
  );
}
