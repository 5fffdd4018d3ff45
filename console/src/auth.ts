/**
 * Sign-in with Cognito's InitiateAuth (USER_PASSWORD_AUTH, then REFRESH_TOKEN_AUTH), called from the
 * browser. The tokens live in sessionStorage: they go with the tab, never into a cookie or localStorage.
 */
import type { SignInConfig } from "./config";

export interface Session {
  username: string;
  accessToken: string;
  refreshToken: string;
  expiresAt: number; // epoch ms
}

const STORAGE_KEY = "stocksync.session";
// Refresh this long before the access token expires, so a request never leaves with a stale one.
const REFRESH_MARGIN_MS = 60_000;

export class SignInError extends Error {}

interface AuthenticationResult {
  AccessToken: string;
  ExpiresIn: number;
  RefreshToken?: string;
}

async function initiateAuth(config: SignInConfig, flow: string, parameters: Record<string, string>):
    Promise<AuthenticationResult> {
  let response: Response;
  try {
    response = await fetch(config.endpoint, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
      },
      body: JSON.stringify({ AuthFlow: flow, ClientId: config.clientId, AuthParameters: parameters }),
    });
  } catch {
    throw new SignInError("The sign-in service cannot be reached. Check your connection and try again.");
  }
  const body = (await response.json().catch(() => ({}))) as {
    AuthenticationResult?: AuthenticationResult; ChallengeName?: string; __type?: string; message?: string;
  };
  if (!response.ok) {
    const kind = (body.__type ?? "").split("#").pop();
    if (kind === "NotAuthorizedException" || kind === "UserNotFoundException") {
      throw new SignInError("That user name and password do not match.");
    }
    throw new SignInError(body.message ?? `Sign-in failed (${response.status}).`);
  }
  if (!body.AuthenticationResult) {
    throw new SignInError(`This account needs a step the console does not offer yet (${body.ChallengeName ?? "a challenge"}).`);
  }
  return body.AuthenticationResult;
}

function store(session: Session | null): void {
  if (session) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
  else sessionStorage.removeItem(STORAGE_KEY);
}

export function storedSession(): Session | null {
  const raw = sessionStorage.getItem(STORAGE_KEY);
  if (!raw) return null;
  try {
    return JSON.parse(raw) as Session;
  } catch {
    return null;
  }
}

export async function signIn(config: SignInConfig, username: string, password: string): Promise<Session> {
  const result = await initiateAuth(config, "USER_PASSWORD_AUTH", { USERNAME: username, PASSWORD: password });
  const session = {
    username,
    accessToken: result.AccessToken,
    refreshToken: result.RefreshToken ?? "",
    expiresAt: Date.now() + result.ExpiresIn * 1000,
  };
  store(session);
  return session;
}

export function signOut(): void {
  store(null);
}

/** The current access token, refreshed first when it is about to expire; null when signed out. */
export async function freshAccessToken(config: SignInConfig): Promise<string | null> {
  const session = storedSession();
  if (!session) return null;
  if (session.expiresAt - Date.now() > REFRESH_MARGIN_MS) return session.accessToken;
  if (!session.refreshToken) return null;
  try {
    const result = await initiateAuth(config, "REFRESH_TOKEN_AUTH", { REFRESH_TOKEN: session.refreshToken });
    const refreshed = { ...session, accessToken: result.AccessToken, expiresAt: Date.now() + result.ExpiresIn * 1000 };
    store(refreshed);
    return refreshed.accessToken;
  } catch {
    store(null);
    return null;
  }
}
