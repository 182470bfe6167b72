int vae_malloc_count_placeholder(void){return 0;}
