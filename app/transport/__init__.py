"""How accepted batches travel from the API to the storing consumer: Kafka or in-process."""
