#include <stdio.h>

int main(void) {
    puts("hello from krill");
    return 0;
}
