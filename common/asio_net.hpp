// Asio's networking parts (TCP, UDP, addresses, whole-buffer reads and writes,
// signals), for the units that do network I/O. Everything else includes only
// the core, common/asio.hpp.
#pragma once
#include "common/asio.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/write.hpp>
