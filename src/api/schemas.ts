/**
 * Zod schemas of every reply of the REST API under `/hpc-envs/api/`.
 *
 * The server is another program, possibly of another version: every reply is validated here before
 * the rest of the frontend sees it, and the TypeScript types are inferred from the schemas.
 */
import { z } from 'zod';

/**
 * `GET /hpc-envs/api/info`: who answers, and in which version.
 */
export const InfoSchema = z.object({
  name: z.string(),
  version: z.string()
});

/**
 * The reply of `GET /hpc-envs/api/info`.
 */
export type Info = z.infer<typeof InfoSchema>;
