// A new password as the install form and the console's password form take it: the rule, and the two inputs.
import { z } from 'zod';

export const MIN_PASSWORD_LENGTH = 10;

/** A new password's fields: typed twice on a form, once by a script. */
export const NEW_PASSWORD_FIELDS = {
  password: z
    .string()
    .min(MIN_PASSWORD_LENGTH, `the password needs at least ${MIN_PASSWORD_LENGTH} characters`)
    .max(256),
  password_repeat: z.string().optional(),
};

/** The refinement of a body with NEW_PASSWORD_FIELDS: the repeat, when given, matches. */
export const passwordsMatch: [
  (b: { password: string; password_repeat?: string }) => boolean,
  { path: string[]; message: string },
] = [
  (b) => b.password_repeat === undefined || b.password_repeat === b.password,
  { path: ['password_repeat'], message: 'the passwords do not match' },
];

export function NewPasswordInputs(props: { label: string }) {
  return (
    <>
      <label for="password">{props.label}</label>
      <input
        id="password"
        name="password"
        type="password"
        required
        minlength={MIN_PASSWORD_LENGTH}
        autocomplete="new-password"
      />
      <label for="password_repeat">{props.label} again</label>
      <input
        id="password_repeat"
        name="password_repeat"
        type="password"
        required
        minlength={MIN_PASSWORD_LENGTH}
        autocomplete="new-password"
      />
    </>
  );
}
