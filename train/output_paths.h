// The output flags checked against the inputs before any work: an output file is no
// input and none of the files written to --outdir, an output folder lies in no folder input.
#pragma once
#include <string>
#include <vector>

#include "train/cli.h"

namespace gf::cli {

// Refuses an output that would replace one of the program's inputs (the same
// file by any path or link: `generate --raw net.bin --network net.bin` wrote
// images over the network): throws gf::Error "<what> <path> is the --<flag>
// file; choose another name" for the first given flag of `inputs` that names
// the same file as `path`. `what` names the output ("--raw", "--outdir out:
// latents.npy").
void check_not_input(const Args& args, const std::string& what, const std::string& path,
                     const std::vector<std::string>& inputs);

// The checks of an output file flag (--raw, --out), made before any work:
// the path is not empty and not a folder ("--out out/: a folder; give a file
// name"), it is none of the inputs (check_not_input), and its folder can be
// made (io::check_parent_folder: a file in the way fails here, before the
// inputs are read). Nothing is made: the program makes the folder right
// before it writes the file (io::create_parent_folder), as it does its
// --outdir, so that a run refused later leaves no new folder. When the file
// is the process's standard output (/dev/stdout, a pipe, the file stdout
// was redirected to; not a device), std::cout goes to standard error from
// here on, so that the program's lines stay out of the data.
void check_output_file(const Args& args, const std::string& flag, const std::vector<std::string>& inputs);
// Refuses an output file flag (generate's and psp's --raw) that names one of
// the files the program writes under --outdir (`outputs`: names in that
// folder), which would replace it or share its temporary; links and "./"
// resolved, an --outdir not made yet included.
void check_not_an_output(const Args& args, const std::string& flag, const std::vector<std::string>& outputs);

// Refuses a folder the program writes into (dir: its --outdir, or a folder
// under it) that is, or lies inside, a folder input named by one of `inputs`
// (psp's --images, the trainers' --data): such an input is read whole, every
// subfolder included, so outputs there replace inputs or join them
// (`psp encode --images photos --outdir photos` wrote
// photos/inference_results/, among the images). Compared after resolving
// links, before any work; an input that is a file or absent is left to the
// other checks. Throws gf::Error "<what> <dir> is inside the --<flag> folder
// <input> ..." ("is the --<flag> folder" for the folder itself).
void check_not_in_input_folder(const Args& args, const std::string& what, const std::string& dir,
                               const std::vector<std::string>& inputs);

// check_not_in_input_folder for each folder output among `outputs` (flag
// names: a trainer's "outdir", "record-draws") that has a value, given or by
// default, against the folder inputs among `inputs` ("data"): a trainer's
// run folder and draw logs would join its dataset. <what> is "--<flag>".
void check_output_folders(const Args& args, const std::vector<std::string>& outputs,
                          const std::vector<std::string>& inputs);

}  // namespace gf::cli
