/* A guest that never calls the host: it can only be stopped by interrupting wasm execution itself. */
int main(void) {
    volatile unsigned long n = 0;
    for (;;)
        n++;
}
