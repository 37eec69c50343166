// Seed 004 ("Queues and Pipes: ... inter-process communication mechanisms like queues and pipes.
// These allow processes to exchange data or messages") names the Pipe but shows no code, so this
// is the usual small program, after the Python documentation's Pipe example: the parent and a
// child process talk both ways over the two ends of a Pipe.
//
//   from multiprocessing import Process, Pipe
//
//   def child(conn):
//       while True:
//           word = conn.recv()
//           if word == '':              # the parent is done
//               break
//           conn.send(word.upper())
//
//   if __name__ == '__main__':
//       parent_conn, child_conn = Pipe()
//       p = Process(target=child, args=(child_conn,))
//       p.start()
//       for word in ['hello', 'from', 'the', 'parent']:
//           parent_conn.send(word)
//           print('sent', repr(word), 'received', repr(parent_conn.recv()))
//       parent_conn.send('')
//       p.join()
//       print('Child exited with code', p.exitcode)
//
// Prints:
//   sent 'hello' received 'HELLO'
//   sent 'from' received 'FROM'
//   sent 'the' received 'THE'
//   sent 'parent' received 'PARENT'
//   Child exited with code 0

#include <cctype>
#include <cstdio>
#include <initializer_list>
#include <string>

#include "print_list.hpp"
#include "rankpool/rankpool.hpp"
#include "version_flag.hpp"

using Conn = rankpool::Connection<std::string>;

void child(Conn conn) {
  while (true) {
    std::string word = conn.recv();
    if (word.empty()) break;  // the parent is done
    for (char& c : word) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    conn.send(word);
  }
}

int main(int argc, char** argv) {
  if (rankpool_apps::print_version_if_asked(argc, argv, "rankpool-example-pipe")) return 0;
  return rankpool::run(argc, argv, [](rankpool::Pool& pool) {
    // The main process waits in recv() while the child runs: that needs a second process of the
    // pool (with one, nothing runs the child while the main process waits, and it would hang).
    if (pool.processes() < 2) {
      std::fprintf(stderr,
                   "rankpool-example-pipe: needs at least 2 processes (mpirun -n 2 or more)\n");
      return 1;
    }
    auto [parent_conn, child_conn] = rankpool::Pipe<std::string>(pool);
    rankpool::Process p(
        pool, [](Conn conn) { child(conn); }, child_conn);
    p.start();
    for (std::string word : {"hello", "from", "the", "parent"}) {
      parent_conn.send(word);
      py::print("sent", py::repr(word), "received", py::repr(parent_conn.recv()));
    }
    parent_conn.send("");
    p.join();
    py::print("Child exited with code", p.exitcode().value());
    return 0;
  });
}
