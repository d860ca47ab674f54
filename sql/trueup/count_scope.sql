SELECT count(*) AS days FROM trueup_scope;
