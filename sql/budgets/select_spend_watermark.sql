-- The newest record ts loaded (epoch milliseconds): the block-list is exact up to here.
SELECT epoch_ms(max(ts)) AS watermark_ms FROM spend_logs;
