// The one translation unit that compiles Boost.Asio's and Boost.Beast's
// non-template code (BOOST_ASIO_SEPARATE_COMPILATION and
// BOOST_BEAST_SEPARATE_COMPILATION are defined for the whole build, see the
// top-level CMakeLists.txt). Every other unit sees only declarations of these,
// instead of compiling the same implementation again (docs/building.md).
#include <utility>  // Boost 1.74's asio/awaitable.hpp needs std::exchange.

#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
