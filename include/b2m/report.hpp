// b2m/report.hpp - statistics over seeds and SVG plots for reports.
#pragma once

#include "b2m/report/censored.hpp"
#include "b2m/report/seed_comparison.hpp"
#include "b2m/report/stats.hpp"
#include "b2m/report/svg_plot.hpp"
