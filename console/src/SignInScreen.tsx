import { type FormEvent, useState } from "react";
import { signIn, SignInError } from "./auth";
import type { SignInConfig } from "./config";

export function SignInScreen({ config, notice, onSignedIn }:
    { config: SignInConfig; notice: string | null; onSignedIn: (username: string) => void }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(config, username.trim(), password);
      onSignedIn(username.trim());
    } catch (failure) {
      setError(failure instanceof SignInError ? failure.message : "Sign-in failed.");
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="centred">
      <form className="card sign-in" onSubmit={submit} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">Sign in to stocksync</h1>
        {notice && <p className="notice" role="status">{notice}</p>}
        <label>User name
          <input name="username" autoComplete="username" required value={username}
                 onChange={(event) => setUsername(event.target.value)} />
        </label>
        <label>Password
          <input name="password" type="password" autoComplete="current-password" required value={password}
                 onChange={(event) => setPassword(event.target.value)} />
        </label>
        {error && <p role="alert" className="error">{error}</p>}
        <button type="submit" className="primary" disabled={busy}>{busy ? "Signing in…" : "Sign in"}</button>
      </form>
    </main>
  );
}
