SELECT object_key, etag FROM bill_objects;
