package io.krill.runtime.os;

import com.sun.jna.Library;
import com.sun.jna.Native;

/** The few libc calls the JDK does not offer. */
interface LibC extends Library {
  LibC INSTANCE = Native.load("c", LibC.class);

  int mount(String source, String target, String fstype, long flags, String data);

  int umount2(String target, int flags);

  int mkfifo(String path, int mode);
}
