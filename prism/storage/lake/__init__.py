"""The analytics lake (Parquet + DuckDB, local folder or S3): built by the lake issue."""
