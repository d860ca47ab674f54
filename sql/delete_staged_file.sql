DELETE FROM staged WHERE filename = $filename;
