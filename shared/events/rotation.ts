import { ROTATION_STEPS } from '../rotation/steps.js';
import * as z from '../zod.js';

/** `create_secret` and `CreateSecret` spellings are accepted defensively; the service sends `createSecret`. */
const StepSchema = z.pipe(
  z.pipe(
    z.pipe(
      z.string(),
      z.transform((step) => step.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase())),
    ),
    z.transform((step) => step.charAt(0).toLowerCase() + step.slice(1)),
  ),
  z.enum(ROTATION_STEPS),
);

/** What Secrets Manager sends a rotation function for each of the four steps (reference §3.1). */
export const RotationInvocationSchema = z.object({
  Step: StepSchema,
  SecretId: z.string().check(z.minLength(1)),
  ClientRequestToken: z.string().check(z.minLength(1)),
  RotationToken: z.optional(z.string().check(z.minLength(1))),
});

export type RotationInvocation = z.infer<typeof RotationInvocationSchema>;
