import { z } from 'zod';
import { ROTATION_STEPS } from '../rotation/steps.js';

/** `create_secret` and `CreateSecret` spellings are accepted defensively; the service sends `createSecret`. */
const StepSchema = z
  .string()
  .transform((step) => step.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase()))
  .transform((step) => step.charAt(0).toLowerCase() + step.slice(1))
  .pipe(z.enum(ROTATION_STEPS));

/** What Secrets Manager sends a rotation function for each of the four steps (reference §3.1). */
export const RotationInvocationSchema = z.object({
  Step: StepSchema,
  SecretId: z.string().min(1),
  ClientRequestToken: z.string().min(1),
  RotationToken: z.string().min(1).optional(),
});

export type RotationInvocation = z.infer<typeof RotationInvocationSchema>;
