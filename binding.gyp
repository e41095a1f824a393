{
  "targets": [
    {
      "target_name": "chroot",
      "sources": ["native/chroot.c"],
      "cflags": ["-Wall", "-Wextra"]
    }
  ]
}
