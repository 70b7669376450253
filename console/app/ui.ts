/// <reference lib="dom" />
// What every page shares: the read-only switch, a message area that says how each action ended, API
// errors shown with their field messages, and the dialogs that ask for a reason or a confirmation.
import { ApiError } from './api.ts';
import { field, h, replace } from './dom.ts';

export const READ_ONLY = document.body.dataset.readOnly === 'true';
export const TARGET = document.body.dataset.target ?? '';

/** What an error means for an operator, in words. */
export function explain(error: unknown): HTMLElement {
  if (!(error instanceof ApiError)) return h('p', {}, `Something failed in the page: ${String(error)}`);
  const lead =
    error.status === 409
      ? 'Refused: the session changed since this page read it, or is not in a state that allows this. The page now shows its current state; look, then try again if it still makes sense.'
      : error.status === 403
        ? 'Refused: your identity may not do this (or the request did not come from this console).'
        : error.status === 404
          ? 'Not found: it may have been removed, or the id is wrong.'
          : error.status === 400
            ? 'The API refused the input:'
            : error.status === 0
              ? 'The API could not be reached.'
              : `The API answered ${error.status} ${error.title}.`;
  return h(
    'div',
    {},
    h('p', {}, lead),
    h('p', {}, h('strong', {}, `${error.status || ''} ${error.title}`.trim()), ': ', error.detail),
    error.errors.length
      ? h(
          'ul',
          { class: 'field-errors' },
          error.errors.map((e) => h('li', {}, h('code', {}, e.path), ' — ', e.message)),
        )
      : null,
  );
}

/** The last message of each area, so it outlives the re-render that follows an action. */
const lastMessages = new Map<string, Node>();

/** Forget every message (a new page is shown). */
export function clearMessages(): void {
  lastMessages.clear();
}

/** A live region per page section: success as status, failure as alert (screen readers announce both). */
export function messageArea(id: string): {
  el: HTMLElement;
  ok(text: string | Node): void;
  fail(error: unknown): void;
  clear(): void;
} {
  const el = h('div', { id, class: 'messages', 'aria-live': 'polite' });
  const kept = lastMessages.get(id);
  if (kept) el.append(kept);
  const show = (node: Node) => {
    lastMessages.set(id, node);
    // The page may have been drawn again since this area was made: write to the one on screen.
    const target = document.getElementById(id) ?? el;
    replace(target, node);
    if (target !== el) replace(el, node.cloneNode(true));
  };
  return {
    el,
    ok(text) {
      show(h('div', { class: 'msg msg-ok', role: 'status' }, text));
    },
    fail(error) {
      show(h('div', { class: 'msg msg-error', role: 'alert' }, explain(error)));
    },
    clear() {
      lastMessages.delete(id);
      replace(el);
    },
  };
}

let openDialogs = 0;
/** True while a dialog is open: refreshes wait, so nothing moves under the operator's hand. */
export function dialogOpen(): boolean {
  return openDialogs > 0;
}

export interface DialogField {
  readonly name: string;
  readonly label: string;
  readonly input: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement;
  readonly hint?: string;
}

/**
 * A modal dialog (native <dialog>: focus stays inside, Escape cancels) with fields and one confirm button.
 * `run` gets the values; when it throws, the error is shown in the dialog and it stays open.
 */
export function openDialog(options: {
  title: string;
  description?: string | Node;
  fields?: readonly DialogField[];
  confirm: string;
  danger?: boolean;
  run: (values: Record<string, string>) => Promise<void>;
}): void {
  const errors = h('div', { class: 'dialog-errors', 'aria-live': 'assertive' });
  const confirm = h(
    'button',
    { type: 'submit', class: options.danger ? 'danger' : 'primary' },
    options.confirm,
  );
  const cancel = h('button', { type: 'button', value: 'cancel' }, 'Cancel');
  const form = h(
    'form',
    { method: 'dialog' },
    h('h2', {}, options.title),
    options.description ? h('div', { class: 'dialog-description' }, options.description) : null,
    (options.fields ?? []).map((f) => {
      f.input.name = f.name;
      return field(f.label, f.input, f.hint);
    }),
    errors,
    h('div', { class: 'dialog-buttons' }, cancel, confirm),
  );
  const dialog = h('dialog', { 'aria-label': options.title }, form);
  const close = () => {
    dialog.close();
  };
  dialog.addEventListener('close', () => {
    openDialogs = Math.max(0, openDialogs - 1);
    dialog.remove();
  });
  cancel.addEventListener('click', close);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const values: Record<string, string> = {};
    for (const f of options.fields ?? []) values[f.name] = f.input.value;
    confirm.disabled = true;
    replace(errors, h('p', { role: 'status' }, 'Working…'));
    options
      .run(values)
      .then(close)
      .catch((error: unknown) => {
        replace(errors, h('div', { class: 'msg msg-error', role: 'alert' }, explain(error)));
        confirm.disabled = false;
      });
  });
  document.body.append(dialog);
  openDialogs++;
  dialog.showModal();
  const first = (options.fields ?? [])[0]?.input;
  (first ?? confirm).focus();
}

export function reasonInput(placeholder = 'why, for the timeline and the audit'): HTMLTextAreaElement {
  return h('textarea', { rows: 2, maxlength: 500, required: true, placeholder });
}

/**
 * A JSON report as nested definition lists, two levels deep, so any component a readiness report names
 * (new ones included) reads as words, not as JSON.
 */
export function details(value: unknown, depth = 0): HTMLElement {
  if (value === null || typeof value !== 'object') return h('span', {}, String(value));
  if (depth >= 2) return h('code', {}, JSON.stringify(value));
  const entries = Object.entries(value as Record<string, unknown>);
  return h(
    'dl',
    { class: depth ? 'kv kv-nested' : 'kv' },
    entries.map(([k, v]) => [h('dt', {}, k), h('dd', {}, details(v, depth + 1))]),
  );
}
