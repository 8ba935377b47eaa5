// Signing in from end-to-end tests. Since identity landed, catalogue routes need a signed-in
// user (and writes an admin): start the server with `env: adminEnv` and call
// `login(srv.url, 'admin', ADMIN_PASSWORD)`, then send `bearer(tokens.access_token)`.
export const ADMIN_PASSWORD = 'e2e admin password 0123';

// The first admin's password, and cheap Argon2id so tests do not spend seconds hashing.
export const adminEnv = {
  TONEARM_ADMIN_PASSWORD: ADMIN_PASSWORD,
  TONEARM_ARGON2_MEMORY: '1024',
  TONEARM_ARGON2_ITERATIONS: '1',
  // Suites that are not about abuse protection sign in and fail on purpose more often than
  // the default limits allow; limits.test.mjs sets its own strict values.
  TONEARM_RATE_IP_RPS: '100000',
  TONEARM_RATE_USER_RPS: '100000',
  TONEARM_RATE_LOGIN_PER_MIN: '100000',
  TONEARM_RATE_REGISTER_PER_MIN: '100000',
  TONEARM_RATE_REFRESH_PER_MIN: '100000',
  TONEARM_LOGIN_THROTTLE_AFTER: '1000',
};

// POST /api/v1/auth/login; returns the token response or throws with the status.
export async function login(url, username, password) {
  const r = await fetch(url + '/api/v1/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (r.status !== 200) throw new Error(`login ${username}: ${r.status} ${await r.text()}`);
  return r.json();
}

// Headers carrying an access token (merge with others as needed).
export function bearer(token, extra = {}) {
  return { authorization: `Bearer ${token}`, ...extra };
}

// The password a server printed for the admin it created (no TONEARM_ADMIN_PASSWORD given).
export function generatedAdminPassword(output) {
  const m = /created the admin account "admin" with the password: (\S+)/.exec(output);
  return m ? m[1] : null;
}
