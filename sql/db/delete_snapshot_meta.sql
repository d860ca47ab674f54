DELETE FROM snapshot_meta;
