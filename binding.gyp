{
  "targets": [
    {
      "target_name": "chroot",
      "sources": ["native/chroot.c"],
      "cflags": ["-Wall", "-Wextra"]
    },
    {
      "target_name": "udpbatch",
      "sources": ["native/udpbatch.c", "native/upstream.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
