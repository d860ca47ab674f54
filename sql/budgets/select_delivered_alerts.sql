-- Thresholds already alerted for a tag in a window (failed deliveries are tried again).
SELECT DISTINCT threshold FROM alerts_sent
WHERE tag = $tag AND window_start = $window_start::TIMESTAMP AND status IN ('sent', 'logged');
