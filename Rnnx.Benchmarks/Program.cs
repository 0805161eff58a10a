using BenchmarkDotNet.Running;
using Rnnx.Benchmarks.Layers;
using Rnnx.Benchmarks.Load;
using Rnnx.Benchmarks.Models;
using Rnnx.Benchmarks.Scaling;

if (args.Length > 0 && args[0] == "load") return LoadBenchmark.Run(args[1..]);
if (args.Length > 0 && args[0] == "masked") return MaskedCostBenchmark.Run(args[1..]);
if (args.Length > 0 && args[0] == "narrow") return Rnnx.Benchmarks.Kernels.NarrowKernels.Run(args[1..]);
if (args.Length > 0 && args[0] == "lstmstep") return Rnnx.Benchmarks.Kernels.LstmBatchStepBenchmarks.RunInterleaved(args[1..]);
if (args.Length > 0 && args[0] == "bandwidth") return Rnnx.Benchmarks.Kernels.StreamBound.Run(args[1..]);
if (args.Length > 0 && args[0] == "gemm") return Rnnx.Benchmarks.Kernels.GemmScale.Run(args[1..]);
if (args.Length > 0 && args[0] == "scaling") return ScalingBenchmark.Run(args[1..]);
if (args.Length > 0 && args[0] == "dropout-epoch") return DropoutEpochBenchmark.Run(args[1..]);
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
