int vae_malloc_count_placeholder(void);
