-- After the session is configured: nothing the user's SQL runs can turn the sandbox off.
SET lock_configuration = true;
