module dnsload

go 1.19
