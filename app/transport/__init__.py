"""Implementations of the services' queue ports: batches (`ingestion.BatchQueue`) and jobs
(`jobs.JobQueue`), in-process or through Kafka."""
