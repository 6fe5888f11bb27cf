hwspec.spec "a" {
}
hwspec.spec "b" {
}
