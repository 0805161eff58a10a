using BenchmarkDotNet.Running;
using Rnnx.Benchmarks.Load;

if (args.Length > 0 && args[0] == "load") return LoadBenchmark.Run(args[1..]);
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
