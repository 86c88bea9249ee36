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
