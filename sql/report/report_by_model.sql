-- By the model the client asked for, with the provider that served it.
SELECT coalesce(model, '(unknown)') AS model, coalesce(provider, '(unknown)') AS provider,
    sum(requests) AS requests, sum(errors) AS errors, sum(unpriced) AS unpriced,
    sum(prompt_tokens)::BIGINT AS prompt_tokens, sum(completion_tokens)::BIGINT AS completion_tokens,
    sum(total_tokens)::BIGINT AS total_tokens, sum(cached_tokens)::BIGINT AS cached_tokens,
    sum(reasoning_tokens)::BIGINT AS reasoning_tokens, sum(spend_usd)::DECIMAL(38, 10) AS spend_usd
FROM rollup_daily_model
WHERE "day" BETWEEN $from::DATE AND $to::DATE
GROUP BY model, provider
ORDER BY spend_usd DESC, requests DESC, model, provider;
