// Providers tagspend knows by name. A preset is usable without any config entry as soon as its
// key variable is set: `openai/gpt-5` then routes to OpenAI. All speak OpenAI's API; anthropic
// also serves the native Messages API at the same base URL.

export interface ProviderPreset {
  baseUrl: string;
  apiKeyEnv: string;
  /** Serves Anthropic's Messages API (`/messages`) below baseUrl. */
  anthropicNative?: boolean;
}

export const PROVIDER_PRESETS: Readonly<Record<string, ProviderPreset>> = Object.freeze({
  openai: { baseUrl: 'https://api.openai.com/v1', apiKeyEnv: 'OPENAI_API_KEY' },
  anthropic: { baseUrl: 'https://api.anthropic.com/v1', apiKeyEnv: 'ANTHROPIC_API_KEY', anthropicNative: true },
  gemini: { baseUrl: 'https://generativelanguage.googleapis.com/v1beta/openai', apiKeyEnv: 'GEMINI_API_KEY' },
  openrouter: { baseUrl: 'https://openrouter.ai/api/v1', apiKeyEnv: 'OPENROUTER_API_KEY' },
  groq: { baseUrl: 'https://api.groq.com/openai/v1', apiKeyEnv: 'GROQ_API_KEY' },
  together: { baseUrl: 'https://api.together.xyz/v1', apiKeyEnv: 'TOGETHER_API_KEY' },
  mistral: { baseUrl: 'https://api.mistral.ai/v1', apiKeyEnv: 'MISTRAL_API_KEY' },
  deepseek: { baseUrl: 'https://api.deepseek.com/v1', apiKeyEnv: 'DEEPSEEK_API_KEY' },
  xai: { baseUrl: 'https://api.x.ai/v1', apiKeyEnv: 'XAI_API_KEY' },
});
