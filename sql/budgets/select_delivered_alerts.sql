-- Alerts already delivered for a subject in a window, by kind and threshold (failed deliveries
-- are tried again).
SELECT DISTINCT kind, threshold FROM alerts_sent
WHERE subject_kind = $subject_kind AND subject = $subject AND window_start = $window_start::TIMESTAMP
  AND status IN ('sent', 'logged');
