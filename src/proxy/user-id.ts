// The end user as spend records store it: the id itself, or HMAC-SHA256(salt, id) in hex with
// privacy.hash_user_ids. Customer budgets key on this stored form, so the admin routes hash the
// ids they are given exactly as requests are hashed.
import { createHmac } from 'node:crypto';

export type UserIdForm = (user: string) => string;

export function userIdForm(salt: string | null): UserIdForm {
  return salt ? (user) => createHmac('sha256', salt).update(user).digest('hex') : (user) => user;
}
