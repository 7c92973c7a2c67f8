# Writes OUT, a C file defining rw_web_page[] and rw_web_page_len from the bytes of IN
# (run by CMake at build time: cmake -DIN=... -DOUT=... -P embed.cmake).
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" n)
math(EXPR len "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x[0-9a-f][0-9a-f],0x[0-9a-f][0-9a-f],0x[0-9a-f][0-9a-f],0x[0-9a-f][0-9a-f],0x[0-9a-f][0-9a-f],0x[0-9a-f][0-9a-f],0x[0-9a-f][0-9a-f],0x[0-9a-f][0-9a-f],0x[0-9a-f][0-9a-f],0x[0-9a-f][0-9a-f],0x[0-9a-f][0-9a-f],0x[0-9a-f][0-9a-f],0x[0-9a-f][0-9a-f],0x[0-9a-f][0-9a-f],0x[0-9a-f][0-9a-f],0x[0-9a-f][0-9a-f])" "\\1\n" bytes "${bytes}")
file(WRITE "${OUT}.tmp"
  "/* Generated from daemon/web/index.html by daemon/web/embed.cmake: do not edit. */\n"
  "#include <stddef.h>\n"
  "const unsigned char rw_web_page[] = {\n${bytes}0x00};\n"
  "const size_t rw_web_page_len = ${len};\n")
file(RENAME "${OUT}.tmp" "${OUT}")
