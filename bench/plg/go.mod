module plg

go 1.19
