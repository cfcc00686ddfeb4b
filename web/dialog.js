// Modal dialogs on the native <dialog> element: a title, a body, actions, an error line.

import { h } from './dom.js';
import { t } from './i18n.js';

/**
 * Opens a dialog. Each action's `run(dialog)` may be async; a thrown error is shown in the
 * dialog, and the dialog closes when `run` returns anything but `false`.
 */
export function openDialog({ title, testid, body, actions = [], wide = false }) {
  const errorLine = h('div', { class: 'dialog-error', 'data-testid': 'dialog-error', role: 'alert', hidden: true });
  const content = h('div', { class: 'dialog-body' });
  const buttons = h('div', { class: 'dialog-actions' });
  const el = h('dialog', { class: ['dialog', wide && 'wide'], 'data-testid': testid },
    h('form', { method: 'dialog', onsubmit: (e) => e.preventDefault() },
      h('div', { class: 'dialog-head' },
        h('h2', null, title),
        h('button', { type: 'button', class: 'small', 'data-testid': 'dialog-close', 'aria-label': t('action.close'), onclick: () => dialog.close() }, '×')),
      content, errorLine, buttons));
  const dialog = {
    el,
    content,
    close() {
      if (el.open) el.close();
      el.remove();
    },
    setError(message) {
      errorLine.textContent = message ?? '';
      errorLine.hidden = !message;
    },
    setBody(...children) {
      content.replaceChildren(...children.flat().filter(Boolean));
    },
  };
  dialog.setBody(body);
  for (const action of actions) {
    const button = h('button', {
      type: action.primary ? 'submit' : 'button',
      class: [action.primary && 'primary', action.danger && 'danger'],
      'data-testid': action.testid,
      onclick: async (e) => {
        e.preventDefault();
        dialog.setError(null);
        button.disabled = true;
        try {
          const result = await action.run(dialog);
          if (result !== false) dialog.close();
        } catch (err) {
          dialog.setError(err.message);
        } finally {
          button.disabled = false;
        }
      },
    }, action.label);
    buttons.append(button);
  }
  buttons.append(h('button', { type: 'button', 'data-testid': 'dialog-cancel', onclick: () => dialog.close() },
    actions.length ? t('action.cancel') : t('action.close')));
  el.addEventListener('close', () => el.remove());
  document.body.append(el);
  el.showModal();
  return dialog;
}

/** A labelled form field for dialogs. */
export function field(text, input) {
  return h('label', { class: 'form-field' }, h('span', null, text), input);
}
