import type { z } from 'zod';
import { ApiError, validationDetails } from '../../errors';

/** A zod failure as the contract's `422 validation_failed` with `details`. */
export function validationError(error: z.ZodError): ApiError {
  return new ApiError('validation_failed', 'The request is not valid', validationDetails(error.issues));
}
