import { tick } from "svelte";

/** After a failed submit, put the keyboard focus on the first field marked invalid. */
export async function focusFirstInvalid(form: HTMLElement | null): Promise<void> {
  await tick();
  if (form?.isConnected) form.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
}

/** Wraps a form's submit handler: no page navigation, and focus moves to the first invalid field. */
export function handleSubmit(handler: (event: SubmitEvent) => Promise<void>) {
  return async (event: SubmitEvent) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    await handler(event);
    await focusFirstInvalid(form);
  };
}

/**
 * Puts `text` on the clipboard (an address, never a secret); false when the
 * system refused. The webview's clipboard API first, else a selected
 * read-only field and the copy command.
 */
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const field = document.createElement("textarea");
    field.value = text;
    field.readOnly = true;
    field.className = "visually-hidden";
    document.body.append(field);
    field.select();
    try {
      return document.execCommand("copy");
    } catch {
      return false;
    } finally {
      field.remove();
    }
  }
}
