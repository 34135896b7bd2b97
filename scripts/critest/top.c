/* critest's long-running container command (`top` in busybox): runs until it is stopped. */
#include <unistd.h>

int main(void) {
    for (;;) {
        sleep(3600);
    }
}
