/** What the console's own origin tells it at /config.json: where the API is and how people sign in. */
export interface SignInConfig {
  region: string;
  userPoolId: string;
  clientId: string;
  endpoint: string;
}

export interface ConsoleConfig {
  apiBase: string;
  signIn: SignInConfig;
}

export async function loadConfig(): Promise<ConsoleConfig> {
  const response = await fetch("/config.json", { cache: "no-store" });
  if (!response.ok) {
    throw new Error(`The console's settings could not be read (/config.json answered ${response.status})`);
  }
  const config = (await response.json()) as Partial<ConsoleConfig>;
  const signIn = config.signIn;
  if (!config.apiBase || !signIn?.endpoint || !signIn.clientId) {
    throw new Error("The console's settings (/config.json) lack the API base or the sign-in endpoint");
  }
  return config as ConsoleConfig;
}
